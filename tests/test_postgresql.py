"""PostgreSQL as the bot's database: the URL forms Freqtrade's users write, money kept to the
last digit, a database of an older schema brought up to date, and a URL or a server the bot
cannot use refused at start in one line with exit 2 (check-config, run); a server that
never answers, exit 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from core.clock import ManualClock
from core.errors import ConfigError
from store import connection, schema
from store.models import Order, PaperOrder, Trade
from store.store import Store
from tests.engine.scripted import Scripted
from tests.factories import DATA_START, make_engine, new_order, new_trade, run_for
from tests.pgserver import PostgresServer

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]
STAKE = 1001.234558  # single precision read it back as 1001.23456
PAIR = "ETH/BTC"
ENGINE = {"exchange": {"pair_whitelist": [PAIR]}, "stake_amount": 0.05, "max_open_trades": 1}


def test_money_reads_back_to_the_last_digit(postgres_url: str) -> None:
    store = Store(schema.init_db(postgres_url))
    trade = new_trade(store, stake_amount=STAKE, open_rate=0.123456789012345)
    new_order(store, trade, amount=3.3333333333333335, price=0.123456789012345)
    schema.close_db()

    with psycopg.connect(postgres_url) as other:
        stake, rate = other.execute("SELECT stake_amount, open_rate FROM trades").fetchone()
        (amount,) = other.execute("SELECT amount FROM orders").fetchone()
    assert (stake, rate, amount) == (STAKE, 0.123456789012345, 3.3333333333333335)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg",
                                    "postgresql+psycopg2"])
def test_every_url_form_opens_the_same_database(postgres_url: str, scheme: str) -> None:
    Store(schema.init_db(postgres_url)).set_value("written", "by postgresql://")
    schema.close_db()

    store = Store(schema.init_db(scheme + postgres_url.removeprefix("postgresql")))
    assert store.value("written") == "by postgresql://"
    schema.close_db()


def test_a_password_with_url_escapes_is_read_as_written(postgres_server: PostgresServer,
                                                        postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("CREATE ROLE escaped LOGIN PASSWORD 'p@ss/w:rd%'")
        admin.execute("GRANT ALL ON SCHEMA public TO escaped")
    url = postgres_url.replace(f"tradepilot:{postgres_server.password}@",
                               "escaped:p%40ss%2Fw%3Ard%25@")
    assert schema.init_db(url).get_tables() != []
    schema.close_db()


def _schema_3_on_postgresql(url: str) -> None:
    """A database as the bot made it before schema 5: money in `real`, text in varchar."""
    store = Store(schema.init_db(url))
    trade = new_trade(store, stake_amount=STAKE, enter_tag="x" * 10)
    new_order(store, trade)
    schema.close_db()
    with psycopg.connect(url, autocommit=True) as old:
        old.execute("ALTER TABLE trades ALTER COLUMN stake_amount TYPE real, "
                    "ALTER COLUMN enter_tag TYPE varchar(255)")
        old.execute("ALTER TABLE orders ALTER COLUMN amount TYPE real")
        old.execute("UPDATE keyvalue SET value = '3' WHERE key = 'schema_version'")


def test_a_schema_3_database_gets_double_precision_and_unbounded_text(postgres_url: str) -> None:
    _schema_3_on_postgresql(postgres_url)

    store = Store(schema.init_db(postgres_url))
    trade = store.open_trades()[0]
    assert trade.stake_amount == pytest.approx(STAKE, rel=1e-7)  # what `real` had kept
    assert trade.enter_tag == "x" * 10
    assert len(store.orders_of(trade.id)) == 1
    trade.stake_amount, trade.enter_tag = STAKE, "t" * 300
    store.write(trade)
    assert store.value("schema_version") == str(schema.SCHEMA_VERSION)
    schema.close_db()
    with psycopg.connect(postgres_url) as other:
        types = dict(other.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public'").fetchall())
        assert other.execute("SELECT stake_amount FROM trades").fetchone() == (STAKE,)
    assert types["trades.stake_amount"] == types["orders.amount"] == "double precision"
    assert types["trades.enter_tag"] == types["orders.ft_cancel_reason"] == "text"
    assert "real" not in types.values()


def test_the_compiled_statements_round_trip_every_column(postgres_url: str) -> None:
    store = Store(schema.init_db(postgres_url))
    trade = new_trade(store, stake_amount=STAKE)
    order = new_order(store, trade, amount=2.0, filled=1.0)
    order.status, order.filled = "filled", 2.0
    store.write(order)
    store.forget()
    again = store.orders_of(trade.id)[0]
    assert (again.id, again.status, again.filled) == (order.id, "filled", 2.0)
    assert Trade.select().count() == 1
    assert Order.select().count() == 1
    schema.close_db()


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql://bot@db/trades", "DATABASE_URL: expected sqlite:///path/to/file.sqlite or "
                              "postgresql://user@host:port/database, got mysql scheme"),
    ("postgresql://bot@db", "DATABASE_URL: expected the database name after the host"),
    ("trades.sqlite", "DATABASE_URL: expected sqlite:///path/to/file.sqlite or "
                      "postgresql://user@host:port/database, got no scheme"),
])
def test_a_url_the_bot_cannot_use_is_refused_naming_its_key(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        connection.check_url(url, "DATABASE_URL")
    assert str(refused.value).startswith(expected)


def test_a_postgresql_url_without_its_driver_installed_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "DRIVER", "psycopg_not_installed_here")
    with pytest.raises(ConfigError, match=r"^db_url: PostgreSQL needs the "
                                          r"psycopg_not_installed_here driver"):
        connection.check_url("postgresql://bot@db/trades", "db_url")


def _bot(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.json").write_text(json.dumps({"telegram": {"enabled": False}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "EXCHANGE_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args, "--config",
                           "config.json"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.heavy
def test_check_config_refuses_a_scheme_it_does_not_speak(tmp_path: Path) -> None:
    done = _bot(tmp_path, "mysql://bot@127.0.0.1/trades", "check-config")
    assert done.returncode == 2
    assert done.stderr.startswith("tradepilot: DATABASE_URL: expected sqlite:///")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.heavy
def test_a_wrong_password_at_start_is_one_line_and_exit_2(
        tmp_path: Path, postgres_server: PostgresServer) -> None:
    done = _bot(tmp_path, postgres_server.url("postgres", password="wrong-secret"), "trade")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    line = done.stderr.splitlines()[-1]  # after the log of the strategy it loaded
    assert line.startswith("tradepilot: DATABASE_URL: cannot open the PostgreSQL database "
                           f"'postgres' at 127.0.0.1:{postgres_server.port}: ")
    assert "password authentication failed" in line
    assert "wrong-secret" not in line


@pytest.mark.heavy
def test_a_server_nobody_answers_at_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Exit 1, not the configuration error's 2: a server not up yet at boot is no fault of the
    config, and the service manager restarts on 1 (deploy/tradepilot.service)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
        port = closed.getsockname()[1]
        done = _bot(tmp_path, f"postgresql://bot:secret@127.0.0.1:{port}/trades", "trade")
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    line = done.stderr.splitlines()[-1]  # after the log of the strategy it loaded
    assert line.startswith("tradepilot: DATABASE_URL: cannot open the PostgreSQL database")
    assert "Connection refused" in line


async def test_a_backup_restored_into_a_fresh_database_resumes_its_open_trades(
        tmp_path: Path, postgres_server: PostgresServer, postgres_url: str) -> None:
    """docs/postgresql.md's backup and restore: pg_dump of the running bot's database,
    pg_restore into a new one, the bot started on it finds its open trade and exits it."""
    strategy = Scripted(enter={PAIR: [DATA_START + timedelta(minutes=10)]},
                        exit_={PAIR: [DATA_START + timedelta(hours=2)]})
    clock = ManualClock(DATA_START)
    before = make_engine(settings_overrides=ENGINE, strategy=strategy, clock=clock,
                         database=connection.database_for(postgres_url))
    await before.startup()
    await run_for(before, clock, 6)
    (trade,) = before.store.open_trades()
    kept = (trade.id, trade.pair, trade.amount, trade.open_rate, trade.stake_amount)
    assert trade.amount > 0  # filled: a position to resume
    dump = tmp_path / "tradepilot.dump"
    _tool(postgres_server, "pg_dump", "--format=custom", f"--file={dump}", postgres_url)
    await before.shutdown()
    schema.close_db()

    restored = postgres_server.create_database("restored")
    _tool(postgres_server, "pg_restore", "--no-owner", f"--dbname={restored}", str(dump))
    after = make_engine(settings_overrides=ENGINE, strategy=strategy, clock=clock,
                        database=connection.database_for(restored))
    await after.startup()
    (resumed,) = after.store.open_trades()
    assert (resumed.id, resumed.pair, resumed.amount, resumed.open_rate,
            resumed.stake_amount) == kept
    await run_for(after, clock, 24)
    assert after.store.open_trades() == []
    (closed,) = after.store.closed_trades()
    assert (closed.id, closed.exit_reason) == (trade.id, "exit_signal")
    assert [(o.side, o.status) for o in PaperOrder.select().order_by(PaperOrder.created_at)] \
        == [("buy", "closed"), ("sell", "closed")]
    await after.shutdown()
    schema.close_db()


def _tool(server: PostgresServer, tool: str, *args: str) -> None:
    done = subprocess.run([str(server.bin / tool), *args], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
