"""Class colours, shared by every map and chart: Petroff's ten-colour sequence (2021, "Accessible
Color Sequences for Data Visualization"; matplotlib's "petroff10" style), chosen so that the colours
stay distinguishable with the common colour-vision deficiencies. Maps also write each class' name on
its area, so colour is never the only cue."""
CLASS_COLORS = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
                "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd")


def class_color(index: int) -> str:
    return CLASS_COLORS[index % len(CLASS_COLORS)]
