"""Every dashboard page in real headless Chromium over the demo store: each renders (a screenshot per page
under test-artifacts/), a filter change lands in the URL, deep links open the exact view, a range can be
brushed on a trend, and hostile names stay text."""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator

import pandas as pd
import pytest

from glasspane.links import link
from glasspane.store import Store
from tests import browser as b
from tests.conftest import clone, rows

TITLES = {
    "overview": "Overview",
    "runs": "Runs",
    "trends": "Row-count trends",
    "schema": "Schema history",
    "pii": "PII",
    "locations": "Locations",
    "alerts": "Alerts",
    "lineage": "Lineage",
    "governance": "Governance",
}


@pytest.fixture(scope="module")
def demo_copy(demo_store, tmp_path_factory) -> Store:
    """A copy of the demo store that this module's server may migrate and write."""
    return clone(demo_store, tmp_path_factory.mktemp("browser") / "demo.lake")


@pytest.fixture(scope="module")
def served(demo_copy) -> Iterator[str]:
    with b.dashboard(demo_copy.path) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with b.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser) -> Iterator:
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    yield tab
    tab.close()


SIZES = [(1280, 800), (1440, 900)]
MISSING_WORDS = {"None", "nan", "NaN", "NaT", "<NA>", "None None None"}
# Per table: how wide its scroller is and how wide its content, its header labels and its cells' texts.
TABLES_JS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(t => {
    const scroller = t.querySelector('.dvn-scroller');
    return {
        visible: scroller.clientWidth, content: scroller.scrollWidth,
        heads: [...t.querySelectorAll('th')].map(h => h.innerText),
        rows: [...t.querySelectorAll('[role="row"]')].slice(1).map(r =>
            [...r.querySelectorAll('[role="gridcell"]')].map(c => c.innerText)),
    };
})"""


TABLES = {  # how many tables each page shows on the demo, at least
    "overview": 1,
    "runs": 1,
    "trends": 1,
    "schema": 3,
    "pii": 2,
    "locations": 1,
    "alerts": 2,
    "lineage": 3,
    "governance": 1,
}


def tables_on(page, path: str) -> list[dict]:
    """Every table of the page once its cells are rendered (Glide renders them a moment after the canvas)."""
    from playwright.sync_api import expect

    grids = page.locator('[data-testid="stDataFrame"]')
    if TABLES[path]:
        expect(grids.nth(TABLES[path] - 1)).to_be_attached(timeout=30_000)
    for index in range(grids.count()):
        expect(grids.nth(index).locator("th").first).to_be_attached(timeout=30_000)
    return page.evaluate(TABLES_JS)


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_reads_at_a_glance(browser, served, width, height):
    """Each page at a laptop's and a desktop's size: its title and no error, no table wider than the page,
    no missing value shown as None or nan; a screenshot of each under test-artifacts/."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        b.open_page(page, served)
        for path, title in TITLES.items():
            b.open_page(page, link(path, served))
            expect(page.locator("h1").first).to_have_text(title)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            assert page.get_by_text("This page could not be shown").count() == 0, path
            if path == "governance":  # a plan's tables (planning never touches a destination)
                page.get_by_label("The subject's value", exact=True).and_(page.locator("input")).fill(
                    "someone@example.com"
                )
                page.get_by_role("button", name="Plan deletion").click()
                b.settle(page)
            for table in tables_on(page, path):
                assert table["content"] <= table["visible"] + 1, (path, width, table["heads"])  # no sideways scroll
                shown = {cell for row in table["rows"] for cell in row}
                assert not shown & MISSING_WORDS, (path, table["heads"], shown & MISSING_WORDS)
            shot = b.screenshot(page, f"page-{path}-{width}x{height}")
            assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    finally:
        page.close()


def test_locations_are_told_apart_where_they_are_shortened(page, served, demo_copy):
    """Overview, Runs and Locations show a location by its distinguishing end: two locations never look alike."""
    sql = "SELECT location FROM locations UNION SELECT location FROM pipelines"
    locations = {loc for (loc,) in rows(demo_copy, sql)}
    assert len(locations) > 1
    for path in ("overview", "runs", "locations"):
        b.open_page(page, link(path, served))
        table = tables_on(page, path)[0]
        column = table["heads"].index("Location")
        shown = {row[column] for row in table["rows"]}
        assert len(shown) == len({loc for loc in locations if any(_ends_alike(s, loc) for s in shown)}), path
        for text in shown:  # each shown text is the end of one real location, and only of that one
            assert sum(_ends_alike(text, loc) for loc in locations) == 1, (path, text)


def _ends_alike(shown: str, location: str) -> bool:
    """True when `shown` is `location` itself or its middle-ellipsised form."""
    if "…" not in shown:
        return shown == location
    head, _, tail = shown.partition("…")
    return location.startswith(head) and location.endswith(tail.lstrip("…"))


def test_overview_shows_health_counts_and_the_sparklines(page, served):
    from playwright.sync_api import expect

    b.open_page(page, served)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Failing")).to_contain_text("1")
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Anomalous")).to_contain_text("1")
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Healthy")).to_contain_text("2")
    expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()


def test_changing_a_filter_narrows_the_runs_and_lands_in_the_url(page, served, demo_copy):
    from playwright.sync_api import expect

    b.open_page(page, f"{served}/runs")
    pipeline_filter = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Pipeline")
    pipeline_filter.locator("input").fill("hr_export")
    page.keyboard.press("Enter")
    b.settle(page)
    page.keyboard.press("Escape")
    assert "pipeline=hr_export" in page.url
    [(count,)] = rows(
        demo_copy,
        "SELECT count(*) FROM runs WHERE pipeline_name = 'hr_export' AND started_at >= now() - INTERVAL 30 DAY",
    )
    expect(page.get_by_text(re.compile(rf"^{count} runs\."))).to_be_visible()
    b.screenshot(page, "runs-filtered")


def test_deep_links_open_the_exact_view(page, served):
    from playwright.sync_api import expect

    b.open_page(page, f"{served}/trends?pipeline=web_events&table=page_views&range=all")
    expect(page.get_by_role("combobox", name="Pipeline")).to_have_value("web_events")
    expect(page.get_by_role("combobox", name="Table")).to_have_value("page_views")
    expect(page.locator('[data-testid="stVegaLiteChart"]')).to_be_visible()
    expect(page.get_by_text("Anomalous loads in this range")).to_be_visible()

    b.open_page(page, f"{served}/schema?dataset=billing")
    expect(page.get_by_role("combobox", name="Dataset")).to_have_value("billing")
    expect(page.get_by_text("Compare two versions")).to_be_visible()

    b.open_page(page, f"{served}/pii?kind=email")
    expect(page.locator('[data-testid="stMultiSelect"]').filter(has_text="PII kind")).to_contain_text("email")
    b.screenshot(page, "pii-email")
    with page.expect_download(timeout=60_000) as download:  # the CSV of the filtered view, ready with the page
        page.get_by_role("button", name="Download CSV").click()
    exported = pd.read_csv(download.value.path())
    shown = page.locator('[data-testid="stMetric"]').filter(has_text="PII columns")
    expect(shown).to_contain_text(str(len(exported)))
    assert len(exported) > 1 and set(exported["pii_kind"]) == {"email"}
    assert {"source", "location", "dataset_name", "table_name", "root_table", "column_name"} <= set(exported.columns)


def test_dragging_across_a_trend_selects_a_range(page, served):
    from playwright.sync_api import expect

    b.open_page(page, f"{served}/trends?pipeline=billing_sync&table=invoices&range=90d")
    chart = page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.4, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    page.mouse.up()
    b.settle(page)
    expect(page.get_by_text("Selected range:")).to_be_visible()
    b.screenshot(page, "trends-range")


def test_hostile_names_stay_text_in_the_browser(odd_names, page):
    dialogs = []
    with b.dashboard(odd_names.path) as url:
        tab = page
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("overview", "runs", "trends", "schema", "pii", "locations"):
            b.open_page(tab, link(path, url))
            assert tab.locator('img[src="x"]').count() == 0, path
            assert tab.locator('[data-testid="stException"]').count() == 0, path
        b.open_page(tab, f"{url}/trends")
        assert "🚀" in tab.get_by_role("combobox", name="Table").input_value()
    assert dialogs == []


def test_overview_alerts_and_trends_agree_about_web_events(page, served, demo_copy):
    from playwright.sync_api import expect

    [(load_id, newest)] = rows(
        demo_copy,
        """SELECT t.load_id, t.row_count FROM table_counts t JOIN runs r
        ON r.schema_name = t.schema_name AND r.load_id = t.load_id
        WHERE r.pipeline_name = 'web_events' AND t.table_name = 'page_views' ORDER BY r.started_at DESC LIMIT 1""",
    )
    cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')

    b.open_page(page, f"{served}/?health=anomalous")  # the Overview: web_events is anomalous, not healthy
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Anomalous")).to_contain_text("1")
    expect(cells.filter(has_text=re.compile(r"^web_events$"))).to_have_count(1)
    overview = cells.all_inner_texts()
    assert overview[overview.index("web_events") - 1] == "anomalous"
    b.screenshot(page, "truth-overview")

    b.open_page(page, f"{served}/alerts")  # the volume rule matches its newest load now
    expect(page.get_by_text(re.compile(r"^volume · warning · 1 match now$"))).to_be_visible()
    expect(cells.filter(has_text=re.compile(r"^web_events\.page_views$"))).to_have_count(1)
    title = f"page_views in web_events: {newest:,} rows in a load, expected about"
    expect(cells.filter(has_text=title)).to_have_count(1)
    b.screenshot(page, "truth-alerts")

    b.open_page(page, f"{served}/trends?pipeline=web_events&table=page_views&range=7d")  # and Trends marks it
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Rows (newest load)")).to_contain_text(
        f"{newest:,}"
    )
    expect(cells.filter(has_text=re.compile(rf"^{re.escape(load_id)}$"))).to_have_count(1)  # in the anomalies
    b.screenshot(page, "truth-trends")


def test_a_slack_expected_link_marks_the_load_after_a_confirmation(page, served, demo_copy):
    from playwright.sync_api import expect

    [(load_id, location)] = rows(
        demo_copy,
        """SELECT t.load_id, r.location FROM table_counts t JOIN runs r USING (schema_name, load_id)
           WHERE r.pipeline_name = 'web_events' AND t.table_name = 'page_views' AND t.row_count = 0""",
    )
    url = link("trends", served, pipeline="web_events", table="page_views", location=location, load=load_id)
    b.open_page(page, f"{url}&range=all&mark=expected")
    expect(page.get_by_text(f"Mark load {load_id}")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()  # on loopback without sign-in: as the OS user
    b.settle(page)
    expect(page.get_by_text(f"Load {load_id} marked expected.")).to_be_visible()
    b.screenshot(page, "trends-marked")
    marks = rows(demo_copy, "SELECT load_id, mark, marked_by FROM volume_marks")
    assert marks == [(load_id, "expected", getpass.getuser())]


def test_a_decided_suspicion_is_not_left_ticked(page, served):
    from playwright.sync_api import expect

    from glasspane.ui import strings

    b.open_page(page, f"{served}/pii")
    suspected = page.locator('[data-testid="stDataFrame"]').nth(1)
    suspected.scroll_into_view_if_needed()
    box = suspected.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 17)  # the first row's tick box, under the header
    b.settle(page)
    page.get_by_role("button", name=strings.PII_DISMISS).click()
    b.settle(page)
    expect(page.get_by_text("Recorded 1 decision as not_pii.")).to_be_visible()
    page.get_by_role("button", name=strings.PII_DISMISS).click()  # nothing is ticked any more
    b.settle(page)
    expect(page.get_by_text(strings.PII_SELECT_FIRST)).to_be_visible()
    b.screenshot(page, "pii-decided")
