"""Lessons: guided, checked paths through GenLab for a class (files under lessons/)."""
