"""The one browser setup shared by the tests, benchmarks and screenshots: Debian's Chromium."""

# Playwright's own browser download cannot work offline; `make browser` installs this one.
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach Google's hosts from a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
