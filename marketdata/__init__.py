"""Candles: timeframes, candle files on disk and the in-memory candle cache."""
