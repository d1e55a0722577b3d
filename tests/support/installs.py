"""Installing the app in a workspace through the real endpoints: the install page, Slack's
approval in the stand-in, the redirect back."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlparse

from tests.conftest import Bot
from tests.support.fake_slack import OAUTH_CLIENT_ID


def http_get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers.items())


def install(bot: Bot, team: str, name: str, installer: str) -> str:
    """Someone in `team` installs the app: the install page, Slack's approval, the redirect
    back. Returns the bot token the workspace got."""
    status, page, headers = http_get(f"{bot.url}/slack/install")
    assert status == 200
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None, page
    query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == [OAUTH_CLIENT_ID]
    state = query["state"][0]
    cookie = SimpleCookie(headers["set-cookie"])
    jar = "; ".join(f"{k}={v.value}" for k, v in cookie.items())
    code, token = bot.slack.grant_install(team, name, installer)
    redirect = f"{bot.url}/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}"
    status, page, _ = http_get(redirect, jar)
    assert status == 200, page
    return token
