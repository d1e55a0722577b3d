"""Installing the app in a workspace through the real endpoints: the install page, Slack's
approval in the stand-in, the redirect back. Workspace installs (in an Enterprise Grid
organisation or not) and org-wide installs; and a key for the tokens at rest."""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Engine

from tests.conftest import Bot, make_bot
from tests.support.fake_slack import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, FakeSlack

# Fernet keys (32 bytes, URL-safe base64) for TOKEN_ENCRYPTION_KEY.
STATE_SECRET = "state-secret-for-tests-0123456789"
TOKEN_KEY = base64.urlsafe_b64encode(b"escalation-bot test key number 1").decode()
OTHER_KEY = base64.urlsafe_b64encode(b"escalation-bot test key number 2").decode()


def http_get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers.items())


def authorize_link(page: str) -> dict[str, list[str]]:
    """The query of the install page's link to Slack's authorize page."""
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None, page
    return parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)


def start(bot: Bot, query: str = "") -> tuple[str, str]:
    """Open the install page: the state it handed to Slack, and the browser's cookies."""
    status, page, headers = http_get(f"{bot.url}/slack/install{query}")
    assert status == 200, page
    found = authorize_link(page)
    assert found["client_id"] == [OAUTH_CLIENT_ID]
    cookie = SimpleCookie(headers["set-cookie"])
    return found["state"][0], "; ".join(f"{k}={v.value}" for k, v in cookie.items())


def finish(bot: Bot, code: str) -> tuple[int, str]:
    """The whole flow with Slack's `code`: the redirect's status and page."""
    state, jar = start(bot)
    redirect = f"{bot.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}"
    status, page, _ = http_get(redirect, jar)
    return status, page


def install(
    bot: Bot, team: str, name: str, installer: str, enterprise_id: str | None = None
) -> str:
    """Someone in `team` (of Grid organisation `enterprise_id`) installs the app: the
    install page, Slack's approval, the redirect back. Returns the bot token it got."""
    code, token = bot.slack.grant_install(team, name, installer, enterprise_id)
    status, page = finish(bot, code)
    assert status == 200, page
    return token


def install_org(bot: Bot, enterprise_id: str, name: str, installer: str) -> str:
    """An Org Admin installs the app for the whole organisation (org-wide)."""
    code, token = bot.slack.grant_org_install(enterprise_id, name, installer)
    status, page = finish(bot, code)
    assert status == 200, page
    return token


# A Slack token's prefix: "xoxb-", "xoxp-", "xoxe-" (and "xoxe.xoxp-"). "xox" alone turns
# up by chance in about 1 in 300 sets of Fernet ciphertexts (url-safe base64); with the
# dash, about 1 in 10^8.
TOKEN_PREFIX = re.compile(r"xox[a-z]-")


def clear_tokens(engine: Engine) -> list[tuple[str, str]]:
    """Every (table, column) of every table holding a value with a Slack token's prefix."""
    found = []
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            columns = [column(c["name"]) for c in inspect(conn).get_columns(name)]
            for row in conn.execute(select(table(name, *columns))).mappings():
                found += [
                    (name, c)
                    for c, v in row.items()
                    if v is not None and TOKEN_PREFIX.search(str(v))
                ]
    return found


def multi_workspace_bot(db_url: str, fake: FakeSlack, **settings: Any) -> Iterator[Bot]:
    """A bot in multi-workspace mode: no bot token, installed by OAuth through the
    stand-in."""
    yield from make_bot(
        db_url,
        fake,
        slack_bot_token=None,
        slack_client_id=OAUTH_CLIENT_ID,
        slack_client_secret=OAUTH_CLIENT_SECRET,
        slack_state_secret=STATE_SECRET,
        **settings,
    )
