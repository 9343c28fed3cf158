"""The accessibility and layout pass over every page state a browser test visits.

axe-core (vendored in tests/browser/vendor, MPL-2.0) runs the WCAG 2.0/2.1 A and AA rules on
every document a test loads (right after its load event, before the test acts on it), after
each resize of the window, and on every open page when the test ends (the state the test
left it in); each check also asserts the document is no wider than the viewport. A state
(URL, title and element count, at one viewport size) already checked within a test is not
checked again. Findings are collected
and the test fails at teardown with one line per finding: rule, target selector, page URL.

`OFFERDESK_A11Y_REPORT=/path/to/file` appends the findings to that file (one JSON object a
line) instead of failing, to survey the whole suite at once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import greenlet

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
REPORT_PATH = os.environ.get("OFFERDESK_A11Y_REPORT")

# One evaluation: run the AA rules and measure the width. Returns plain data, the violations reduced to what a reader needs.
_RUN = r"""async (tags) => {
  const result = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"],
  });
  return {
    url: location.href,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    // the elements that reach past the right edge outside any scrolling box: where to look
    wide: document.documentElement.scrollWidth <= window.innerWidth ? [] :
      [...document.body.querySelectorAll("*")].filter(e => {
        if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== "visible") return false;
        }
        return true;
      }).slice(-4).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
        (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "")),
    violations: result.violations.map(v => ({
      id: v.id, help: v.help,
      nodes: v.nodes.map(n => ({ target: n.target.join(" "), summary: n.failureSummary || "" })),
    })),
  };
}"""

_STATE = "[location.href, document.title, document.getElementsByTagName('*').length].join(' ')"

# Errors that only mean the page moved on while axe ran: the next load is checked instead.
_GONE = ("Execution context was destroyed", "Target closed", "has been closed", "navigat")


@dataclass
class Checker:
    test_id: str
    origin: str = ""  # only the app's own pages (not the test identity provider's)
    findings: list[str] = field(default_factory=list)
    seen: set[tuple] = field(default_factory=set)
    checks: int = 0
    busy: bool = False
    pending: list = field(default_factory=list)  # pages loaded since the last check

    def watch_context(self, context) -> None:
        context.on("page", self.watch_page)
        for page in context.pages:
            self.watch_page(page)
        close = context.close

        def close_after_checking(*args, **kwargs):
            self.run_pending()
            for page in context.pages:
                self.check(page)
            return close(*args, **kwargs)

        context.close = close_after_checking

    def watch_page(self, page) -> None:
        # an event handler runs beside the test: it only notes the page, checked at the
        # test's next call (see `before_each_call`)
        page.on("load", lambda loaded: self.pending.append(loaded))
        resize = page.set_viewport_size

        def resize_and_check(viewport):
            self.run_pending()
            resize(viewport)
            self.check(page)

        page.set_viewport_size = resize_and_check

    def run_pending(self) -> None:
        while self.pending:
            page = self.pending.pop(0)
            if page not in self.pending:
                self.check(page)

    def check(self, page) -> None:
        if self.busy:  # the check's own calls to the browser
            return
        self.busy = True
        try:
            self._check(page)
        finally:
            self.busy = False

    def _check(self, page) -> None:
        if page.is_closed() or not page.url.startswith(self.origin or "http"):
            return
        viewport = page.viewport_size or {}
        try:
            # the same URL, title and element count at the same size: a state already checked
            state = page.evaluate(_STATE)
            key = (state, viewport.get("width"), viewport.get("height"))
            if key in self.seen:
                return
            self.seen.add(key)
            if not page.evaluate("typeof window.axe !== 'undefined'"):
                page.evaluate(AXE_SOURCE)  # once per document, through the driver: no CSP
            result = page.evaluate(_RUN, WCAG_TAGS)
        except Exception as error:  # noqa: BLE001 - the page navigated or closed meanwhile
            if any(part in str(error) for part in _GONE):
                return
            raise
        self.checks += 1
        self._record(result, viewport)

    def _record(self, result: dict, viewport: dict) -> None:
        url = result["url"] if len(result["url"]) < 160 else result["url"][:157] + "..."
        where = f"{url} at {viewport.get('width')}x{viewport.get('height')}"
        if result["scrollWidth"] > result["innerWidth"]:
            self._add(
                f"overflow: document is {result['scrollWidth']} px wide in a "
                f"{result['innerWidth']} px viewport (widest: {', '.join(result['wide'])}) — {where}"
            )
        for violation in result["violations"]:
            for node in violation["nodes"]:
                self._add(f"{violation['id']}: {node['target']} ({violation['help']}) — {where}")

    def _add(self, finding: str) -> None:
        if finding not in self.findings:
            self.findings.append(finding)

    def finish(self) -> str | None:
        """The failure message, or None when there is nothing (or it went to the report)."""
        if not self.findings:
            return None
        if REPORT_PATH:
            with open(REPORT_PATH, "a", encoding="utf-8") as report:
                for finding in self.findings:
                    report.write(json.dumps({"test": self.test_id, "finding": finding}) + "\n")
            return None
        lines = "\n".join(f"  - {finding}" for finding in self.findings)
        return f"{len(self.findings)} accessibility/layout finding(s):\n{lines}"


def watch_browser(browser, checker: Checker, monkeypatch) -> None:
    """Every context this test opens on the browser is watched (the `page` fixture's, and
    the ones a test opens itself). Every call the test makes to Playwright first checks the
    pages loaded since its previous call: the state right after a load, before the test acts
    on it. (Playwright's sync API sends each call through `SyncBase._sync`; only the test's
    own greenlet runs checks, never an event handler's.)"""
    from playwright._impl._sync_base import SyncBase

    new_context = browser.new_context

    def new_watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        checker.watch_context(context)
        return context

    test_greenlet = greenlet.getcurrent()
    call = SyncBase._sync

    def before_each_call(self, awaitable):
        if checker.pending and not checker.busy and greenlet.getcurrent() is test_greenlet:
            checker.run_pending()
        return call(self, awaitable)

    monkeypatch.setattr(browser, "new_context", new_watched_context)
    monkeypatch.setattr(SyncBase, "_sync", before_each_call)
