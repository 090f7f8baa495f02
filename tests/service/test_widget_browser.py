"""The web widget in headless Chromium, as a developer embeds it: one ``<script>`` tag with a
publishable key on a page of another origin (another port), a fake microphone playing speech.

It shows the face, plays its voice, says a typed sentence with the mouth moving (MediaPipe reads
the jaw in what the player shows) and listens to the microphone, over WebRTC; over the
WebSocket fallback in a phone-sized window; it reconnects after the network drops and resumes
its session; a third origin is refused by CORS; no page holds a secret key.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from widget_browser import (
    ADMIN_KEY,
    NEEDS_CHROMIUM,
    Cable,
    Pages,
    Service,
    chromium,
    events,
    jaw_openings,
    microphone_wav,
    no_errors,
    publishable_key,
    snapshots,
    spread,
    start_service,
    stats,
    wait_for,
    widget_page,
)

pytestmark = [NEEDS_CHROMIUM, pytest.mark.timeout(240)]
SENTENCE = "Hello there! I am a talking face, and you can watch my mouth move as I speak to you."


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    running, stop = start_service(tmp_path_factory.mktemp("widget_data"))
    yield running
    stop()


@pytest.fixture(scope="module")
def shop() -> Iterator[Pages]:
    pages = Pages()
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = chromium(microphone_wav(tmp_path_factory.mktemp("mic") / "mic.wav"))
    yield driver
    driver.quit()


def _open(browser: Any, url: str) -> dict[str, Any]:
    browser.get(url)
    ready = wait_for("the widget to be ready", lambda: events(browser, "ready") or events(browser, "error"))
    no_errors(browser)
    return dict(ready[0]["detail"])


def _type_and_say(browser: Any, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, "text")
    field.clear()
    field.send_keys(text)
    browser.find_element(By.ID, "say").click()


def test_on_another_origin_it_shows_speaks_and_listens(
    service: Service, shop: Pages, browser: Any
) -> None:
    key = publishable_key(service, shop.origin)
    url = shop.put("/shop.html", widget_page(service.url, service.character_id, key))
    ready = _open(browser, url)
    assert ready["transport"] == "webrtc", ready
    assert stats(browser)["audible"], "the player is paused or muted"
    wait_for("25 frames", lambda: stats(browser)["frames"] >= 25)
    quiet = snapshots(browser, 15, 100)
    assert spread(quiet[-1]) > 100, "the player shows no face"
    before = stats(browser)

    _type_and_say(browser, SENTENCE)
    wait_for("the avatar to speak", lambda: events(browser, "speaking"), 20)
    talking = snapshots(browser, 40, 100)
    after = stats(browser)
    no_errors(browser)
    # its voice played: WebRTC's totalAudioEnergy (level² × seconds) of what was received
    assert after["audioEnergy"] - before["audioEnergy"] > 0.01, (before, after)
    jaw_quiet, jaw_talking = jaw_openings(quiet), jaw_openings(talking)
    # measured: closed (<= 0.01) while quiet; peaks of 0.3 on open vowels while talking
    opened = sum(jaw > 0.05 for jaw in jaw_talking)
    assert max(jaw_quiet) < 0.05 and max(jaw_talking) > 0.15 and opened >= 3, (jaw_quiet, jaw_talking)

    browser.execute_script("visavis.listen(true)")
    wait_for("the avatar to listen to the microphone", lambda: events(browser, "listening"), 40)
    no_errors(browser)

    page, script = httpx.get(url).text, httpx.get(f"{service.url}/v1/widget.js").text
    for secret in (service.secret_key, ADMIN_KEY):
        assert secret not in page + script + browser.page_source
    assert "vv_" not in page and key in page  # the publishable key is what the page holds


def test_it_reconnects_after_a_network_drop_and_resumes_its_session(
    service: Service, shop: Pages, browser: Any
) -> None:
    key = publishable_key(service, shop.origin)
    cable = Cable(int(service.url.rsplit(":", 1)[1]))  # the page reaches the service through it
    try:
        url = shop.put("/again.html", widget_page(cable.url, service.character_id, key))
        session = _open(browser, url)["session"]
        cable.cut()
        wait_for("the widget to notice", lambda: events(browser, "reconnecting"), 30)
        # while the page is cut off, the service closes the session (as a restart does)
        closed = httpx.post(f"{service.url}/v1/sessions/{session}/close",
                            headers={"X-API-Key": service.secret_key})  # fmt: skip
        assert closed.status_code == 200, closed.text
        time.sleep(3)  # a few attempts fail and back off
        cable.mend()
        back = wait_for("the widget to be back", lambda: events(browser, "ready")[1:], 60)[0]
        assert back["detail"]["session"] == session and back["detail"]["resumed"], back
        frames = stats(browser)["frames"]
        wait_for("frames again", lambda: stats(browser)["frames"] > frames + 25, 30)
        no_errors(browser)
    finally:
        browser.get("about:blank")  # the page (and its session's viewer) goes before the cable
        cable.close()


def test_a_floating_player_in_a_phone_sized_window_falls_back_to_the_websocket(
    service: Service, shop: Pages, browser: Any
) -> None:
    key = publishable_key(service, shop.origin)
    # a browser where WebRTC fails (a policy, an extension): the widget falls back by itself
    blocked = "window.RTCPeerConnection = function () { throw new Error('blocked'); };"
    page = widget_page(service.url, service.character_id, key, before=blocked, mode="floating")
    url = shop.put("/phone.html", page)
    metrics = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        ready = _open(browser, url)
        assert ready["transport"] == "websocket", ready
        wait_for("25 frames", lambda: stats(browser)["frames"] >= 25)
        assert spread(snapshots(browser, 1, 0)[0]) > 100, "the player shows no face"
        box = browser.execute_script(
            "const r = visavis.element.shadowRoot.querySelector('.player').getBoundingClientRect();"
            "const b = visavis.element.shadowRoot.querySelector('.close').getBoundingClientRect();"
            "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,"
            " button: b.width, buttonRight: b.right, page: document.documentElement.scrollWidth,"
            " viewport: innerWidth};"
        )
        assert box["viewport"] == 360 and box["page"] <= 360, box
        assert box["left"] >= 0 and box["right"] <= 360 and box["bottom"] <= 740, box
        assert box["width"] >= 160 and box["button"] >= 32 and box["buttonRight"] <= 360, box

        before = stats(browser)
        _type_and_say(browser, SENTENCE)
        wait_for("its voice", lambda: stats(browser)["audioEnergy"] > before["audioEnergy"] + 0.01, 30)
        assert stats(browser)["audible"], "the WebSocket's audio is not playing"
        browser.execute_script("visavis.element.shadowRoot.querySelector('.close').click()")
        wait_for("ended", lambda: events(browser, "ended"), 10)
        no_errors(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_third_origin_is_refused_by_cors(service: Service, shop: Pages, browser: Any) -> None:
    key = publishable_key(service, shop.origin)
    stranger = Pages()
    try:
        browser.get(stranger.put("/copy.html", widget_page(service.url, service.character_id, key)))
        error = wait_for("the refusal", lambda: events(browser, "error"), 30)[0]["detail"]
        assert "network error" in error["message"] and not events(browser, "ready"), error
        preflight = httpx.options(f"{service.url}/v1/sessions", headers={
            "Origin": stranger.origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type"})  # fmt: skip
        assert preflight.status_code == 403
        assert "access-control-allow-origin" not in preflight.headers
    finally:
        stranger.close()


def test_the_demo_page_is_the_widget_with_a_publishable_key(service: Service, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{service.url}/demo/live")
    browser.find_element(By.ID, "start").click()
    wait_for("the demo to be live", lambda: browser.find_element(By.ID, "transport").text == "webrtc")
    wait_for("25 frames", lambda: int(browser.find_element(By.ID, "frames").text or 0) >= 25)
    source = httpx.get(f"{service.url}/demo/live").text
    assert "pk_" in source and "vv_" not in source and ADMIN_KEY not in source
