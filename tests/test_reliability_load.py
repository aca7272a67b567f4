"""Issue 6's load guarantee in the test suite: many sessions drawing at once over Streamlit's websocket.

No browser (tests/kit/streamlit_ws.py speaks the protocol), so the sessions really overlap on the
server: every answer must be the one the same drawing gets when nothing else runs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.kit.draw_page_ws import canvas_state, draw_round, open_page
from tests.kit.drawn_digits import make_drawn_digits

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SESSIONS = 10
ROUNDS = 4


@pytest.fixture
def served_url(store_copy):
    from tests.kit.dashboard_server import serve

    with serve(store_copy.root) as url:
        yield url


async def quiet_answers(url: str, drawings: list[dict]) -> list[tuple[int | None, str]]:
    """Each drawing's answer (digit, "What it sees" image) from one session with nothing else running."""
    page = await open_page(url)
    answers = []
    for drawing in drawings:
        _, answer = await draw_round(page, drawing)
        assert answer.exceptions == []
        answers.append((answer.digit, answer.seen))
    await page.session.close()
    return answers


async def session_answers(url: str, drawings: list[dict], number: int) -> list[tuple[int, tuple, list]]:
    """One session's rounds (stroke, answer, Clear, hint back): (drawing index, answer, exceptions)."""
    page = await open_page(url)
    results = []
    for round_number in range(ROUNDS):
        which = (number * ROUNDS + round_number) % len(drawings)
        _, answer = await draw_round(page, drawings[which])
        results.append((which, (answer.digit, answer.seen), answer.exceptions))
    await page.session.close()
    return results


def test_sessions_drawing_at_once_each_get_the_answer_for_their_own_drawing(served_url):
    images, _ = make_drawn_digits(SESSIONS * ROUNDS, seed=1)
    drawings = [canvas_state(image) for image in images]

    async def scenario():
        reference = await quiet_answers(served_url, drawings)
        sessions = await asyncio.gather(*(session_answers(served_url, drawings, n) for n in range(SESSIONS)))
        return reference, sessions

    # A thread of its own: Playwright's sync API, used by the browser tests in the same run, keeps
    # an event loop running in this thread, where asyncio.run() refuses to start another.
    with ThreadPoolExecutor(max_workers=1) as thread:
        reference, sessions = thread.submit(asyncio.run, scenario()).result()
    assert len({seen for _, seen in reference}) == len(drawings), "the drawings must look different"
    for results in sessions:
        assert len(results) == ROUNDS
        for which, answer, exceptions in results:
            assert exceptions == []
            assert answer == reference[which], f"drawing {which} got another drawing's answer"
