"""The options of `bot.py hyperopt`, `hyperopt-list` and `hyperopt-show`, apart from the
commands: bot.py builds its parser on every start, and Optuna takes half a second to import."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_STORAGE_FILE = Path("hyperopt_results") / "hyperopt.sqlite3"
DEFAULT_HEARTBEAT = 20
DEFAULT_BATCH = 16


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", help="Optuna storage URL: postgresql://user:pw@host/db to "
                                          "share the study between processes and machines "
                                          f"(default: sqlite:///{DEFAULT_STORAGE_FILE})")
    parser.add_argument("--study-name", help="the study (default: <strategy>-<time> for a new "
                                             "run; the latest study for -list and -show)")


def add_hyperopt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--strategy", help="strategy class name (default: the config's)")
    parser.add_argument("--strategy-path", help="folder of the strategy file")
    parser.add_argument("--hyperopt-loss", "--hyperoptloss", dest="hyperopt_loss",
                        help="the loss class: one of Freqtrade's ten (ShortTradeDurHyperOptLoss, "
                             "SharpeHyperOptLoss, ...), or one of yours")
    parser.add_argument("--hyperopt-path", help="folder of your loss class (default: the "
                                                "strategy folder)")
    parser.add_argument("--spaces", nargs="+", default=["default"],
                        help="buy sell protection roi stoploss trailing trades default all "
                             "(default: default, which is all but trailing, protection and "
                             "trades)")
    parser.add_argument("-e", "--epochs", type=int, default=100, help="epochs (default: 100)")
    parser.add_argument("-j", "--job-workers", dest="jobs", type=int, default=-1,
                        help="worker processes; -1 all cores, -2 all but one (default: -1)")
    parser.add_argument("--random-state", type=int, help="the sampler's seed (default: random)")
    parser.add_argument("--min-trades", type=int, default=1,
                        help="an epoch with fewer trades gets the worst loss (default: 1)")
    parser.add_argument("--print-all", action="store_true", help="show every epoch, not only "
                                                                 "the best ones")
    parser.add_argument("--sampler", default=None,
                        help="Optuna sampler: NSGAIIISampler, TPESampler, GPSampler, "
                             "CmaEsSampler, NSGAIISampler, QMCSampler, RandomSampler or random "
                             "(default: the strategy's HyperOpt.generate_estimator, else "
                             "NSGAIIISampler)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help="points asked at once; the results for a seed depend on it and not "
                             f"on -j (default: {DEFAULT_BATCH})")
    parser.add_argument("--ignore-missing-spaces", "--ignore-unparameterized-spaces",
                        action="store_true", help="skip a chosen space without parameters")
    parser.add_argument("--disable-param-export", action="store_true",
                        help="do not write the best parameters to the strategy's .json file")
    parser.add_argument("--heartbeat", type=int, default=DEFAULT_HEARTBEAT,
                        help="seconds between a shared study's heartbeats; a process silent "
                             "for three is taken as dead (default: 20)")
    add_storage_arguments(parser)
    parser.add_argument("-d", "--datadir", "--data-dir", dest="datadir",
                        help="folder of the candle files (as for backtest)")
    parser.add_argument("--timerange", help="START-END (as for backtest)")
    parser.add_argument("-i", "--timeframe", help="candle timeframe (default: the strategy's)")
    parser.add_argument("--timeframe-detail", help="step each candle through shorter candles")
    parser.add_argument("-p", "--pairs", nargs="+", help="pairs (default: the whitelist)")
    parser.add_argument("--pairs-file", help="JSON list of pairs (wins over --pairs)")
    parser.add_argument("--fee", type=float, help="fee ratio per side (default: the market's)")
    parser.add_argument("--max-open-trades", type=int, help="replaces max_open_trades")
    parser.add_argument("--stake-amount", help='replaces stake_amount (a number or "unlimited")')
    parser.add_argument("--dry-run-wallet", "--starting-balance", dest="dry_run_wallet",
                        type=float, help="starting balance (replaces dry_run_wallet)")
    parser.add_argument("--enable-protections", "--enableprotections", action="store_true",
                        help="apply the strategy's protections (on with the protection space)")
    parser.add_argument("--markets", help="JSON file of ccxt markets (as for backtest)")


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    add_storage_arguments(parser)
    parser.add_argument("--best", action="store_true", help="only the epochs that were best")
    parser.add_argument("--profitable", action="store_true", help="only profitable epochs")
    parser.add_argument("--min-trades", type=int, default=0, help="only epochs with as many")


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    add_storage_arguments(parser)
    parser.add_argument("-n", "--index", type=int,
                        help="the epoch (1 is the first, -1 the last; default: the best)")
    parser.add_argument("--print-json", action="store_true",
                        help="the parameters as the parameter file's JSON")
