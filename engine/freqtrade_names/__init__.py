"""Freqtrade's import names, as a strategy file sees them: `freqtrade.strategy`, `...persistence`,
`...exchange`, `...enums`, `...constants`, `...vendor.qtpylib.indicators` and the older paths.

Each module here stands for one Freqtrade module and its `__all__` lists exactly the names
tradepilot provides; `hook.py` is the import hook the loader installs in each strategy module,
and `hook.MODULES` says which of our modules answers which Freqtrade name.
"""
