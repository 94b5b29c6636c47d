"""``wxloan dashboard``: the operator's read-only web view of what the bot does."""
