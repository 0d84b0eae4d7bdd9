"""End to end in a real browser: the Music page plays a phrase, a melody control changes it, MIDI downloads."""
import io

import pretty_midi
from playwright.sync_api import expect

DURATION = "a => new Promise(done => a.readyState >= 1 ? done(a.duration) : " \
           "a.addEventListener('loadedmetadata', () => done(a.duration), {once: true}))"


def _open_music(page, app_url):
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Music", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Music")).to_be_visible(timeout=60_000)
    expect(main.locator("audio")).to_have_count(2, timeout=60_000)   # the phrase and the nearest chorale
    return main


def test_play_a_phrase_change_the_soprano_and_download_the_midi(page, app_url, tmp_path):
    main = _open_music(page, app_url)
    audio = main.locator("audio").first
    assert audio.evaluate(DURATION) > 1.0
    box = audio.bounding_box()
    audio.click(position={"x": 18, "y": box["height"] / 2})          # the play button of the player
    if audio.evaluate("a => a.paused"):                               # the click missed the button: a user
        audio.evaluate("a => a.play()")                              # gesture happened, so play() may start it
    page.wait_for_function("a => !a.paused && a.currentTime > 0", arg=audio.element_handle(), timeout=20_000)
    page.screenshot(path=str(tmp_path / "music.png"), full_page=True)

    # drag the soprano's melody along its first main direction: a new phrase to hear
    before = audio.get_attribute("src")
    main.get_by_role("tab", name="Melody per voice").click()
    soprano = main.get_by_role("tabpanel").filter(visible=True).locator(".latent-pad canvas").first
    soprano.focus()
    for _ in range(15):
        soprano.press("ArrowRight")
    expect(main.locator("audio").first).not_to_have_attribute("src", before, timeout=60_000)
    assert main.locator("audio").first.evaluate(DURATION) > 1.0
    # the 15 key presses are 15 reruns: let the last one land (each rerun replaces the files offered for
    # download, so a click during one can fetch a file that is gone, as a user clicking mid-rerun would)
    src, stable = None, 0
    while stable < 3:
        page.wait_for_timeout(500)
        now = main.locator("audio").first.get_attribute("src")
        stable, src = (stable + 1 if now == src else 0), now

    with page.expect_download(timeout=60_000) as download:
        main.get_by_role("button", name="Download MIDI (.mid)").click()
    midi = pretty_midi.PrettyMIDI(io.BytesIO(open(download.value.path(), "rb").read()))
    assert len(midi.instruments) == 4 and all(i.notes for i in midi.instruments)


def test_a_malformed_midi_upload_is_refused_with_a_message(page, app_url, tmp_path):
    main = _open_music(page, app_url)
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff")
    main.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(bad))
    expect(main.get_by_text("This file was refused")).to_be_visible(timeout=60_000)
