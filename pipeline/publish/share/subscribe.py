"""The index page's subscribe section: the feed URL with a copy button, and a link per podcast
app in the URL scheme it registers, so a tap on the phone opens the app on this feed.

No scheme works everywhere (Apple keeps `pcast:`/`podcast:` for its own app, Android lets each
app claim its own), so the section offers the common ones and the plain URL to paste into any
app's "add by URL". Schemes, as the apps document or register them:
- Apple Podcasts: `podcast://` + the URL without its scheme.
- Overcast: `overcast://x-callback-url/add?url=` + the percent-encoded URL.
- Pocket Casts: `pktc://subscribe/` + the URL without its scheme.
- Castro: `castro://subscribe/` + the URL without its scheme.
- AntennaPod: `antennapod-subscribe://` + the URL without its scheme (it puts `http://` back).
- Podcast Addict: `podcastaddict://` + the URL without its scheme.
- Others (gPodder, many Android apps): `feed://` + the URL without its scheme.
The schemes that drop the scheme assume http, which is what `pmr serve --share` speaks.

The copy button uses the Clipboard API where the browser allows it (a secure context: https or
this machine) and falls back to selecting the text and `execCommand("copy")`, the one way a
phone browser copies from a plain-http LAN page.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

# (app, template): {bare} is the feed URL without "http://", {encoded} the whole URL encoded.
APPS = (
    ("Apple Podcasts", "podcast://{bare}"),
    ("Overcast", "overcast://x-callback-url/add?url={encoded}"),
    ("Pocket Casts", "pktc://subscribe/{bare}"),
    ("Castro", "castro://subscribe/{bare}"),
    ("AntennaPod", "antennapod-subscribe://{bare}"),
    ("Podcast Addict", "podcastaddict://{bare}"),
    ("Other apps (feed:)", "feed://{bare}"),
)


@dataclass(frozen=True)
class AppLink:
    app: str
    href: str


def app_links(feed_url: str) -> tuple[AppLink, ...]:
    bare = feed_url.split("://", 1)[-1]
    encoded = quote(feed_url, safe="")
    return tuple(AppLink(app, t.format(bare=bare, encoded=encoded)) for app, t in APPS)


STYLE = """
.subscribe { border: 1px solid #8884; border-radius: .6rem; padding: .6rem 1rem; }
.subscribe h2 { font-size: 1.15rem; margin: .2rem 0; }
.feed-url { display: flex; gap: .5rem; flex-wrap: wrap; }
.feed-url input { flex: 1 1 16rem; font: inherit; padding: .3rem; }
ul.apps { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
"""

SCRIPT = """
const copyButton = document.getElementById("copy-feed");
if (copyButton) copyButton.addEventListener("click", async () => {
  const field = document.getElementById("feed-url");
  const state = document.getElementById("copy-state");
  let copied = false;
  if (window.isSecureContext && navigator.clipboard) {
    try { await navigator.clipboard.writeText(field.value); copied = true; } catch (e) {}
  }
  if (!copied) {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    try { copied = document.execCommand("copy"); } catch (e) {}
  }
  state.dataset.state = copied ? "copied" : "select";
  state.textContent = copied ? "copied" : "selected: copy it with your keyboard or menu";
});
"""


def subscribe_html(feed_url: str) -> str:
    """The section (user text: none; the URL is escaped all the same)."""
    esc = html.escape
    links = "".join(
        f'<li><a class="button" href="{esc(link.href)}">{esc(link.app)}</a></li>'
        for link in app_links(feed_url)
    )
    return f"""
<section class="subscribe" id="subscribe">
  <h2>Subscribe</h2>
  <p>Tap your podcast app, or copy the feed address into its "add by URL".</p>
  <p class="feed-url"><input id="feed-url" readonly value="{esc(feed_url)}"
    aria-label="Feed address">
    <button type="button" class="button" id="copy-feed">Copy</button>
    <span id="copy-state" role="status"></span></p>
  <ul class="apps">{links}</ul>
</section>"""
