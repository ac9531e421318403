"""Freqtrade's pairlists: the methods that build the whitelist, one module per group
(generators, ticker_filters, candle_filters, trade_filters), their config (config.py) and the
manager that runs them in order (manager.py)."""
