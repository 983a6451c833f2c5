"""dianhua's bot: storage, rules, cases, sender, poller, scheduler, daemon and CLI.

Keep this module light: importing ``bot.errors`` must not pull in the whole daemon.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
