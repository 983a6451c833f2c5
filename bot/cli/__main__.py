"""``python -m bot.cli`` = ``dianhua``."""

from bot.cli import main

main(prog_name="dianhua")
