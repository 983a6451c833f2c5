"""A faithful local mock of the WeChat official-account API and the WeCom group robot.

Run it with ``dianhua mock``; use it in code with :class:`MockServer`. See ``docs/mock.md``.
"""

from connectors.mock.replay import ScenarioError, load_scenario
from connectors.mock.server import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.mock.state import MockState

__all__ = ["DEFAULT_APPID", "DEFAULT_SECRET", "MockServer", "MockState", "ScenarioError",
           "load_scenario"]
