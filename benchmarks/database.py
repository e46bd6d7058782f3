"""The bench's PostgreSQL database: its name, DSN, creation and a few counts."""

from __future__ import annotations

import os


def env_db() -> str:
    return os.environ.get("BENCH_DB_NAME", "broadcast_bench")


def db_dsn(dbname: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=os.environ.get("BENCH_DB_HOST", "127.0.0.1"),
        port=os.environ.get("BENCH_DB_PORT", "5432"),
        user=os.environ.get("BENCH_DB_USER", "postgres"),
        password=os.environ.get("BENCH_DB_PASSWORD", "") or None,
        dbname=dbname,
    )


def ensure_database(dbname: str) -> None:
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')


def pg_backend_pids(dbname: str) -> list[int]:
    import psycopg

    with psycopg.connect(db_dsn("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        ).fetchall()
    return [int(r[0]) for r in rows]


def table_count(dbname: str, table: str) -> int:
    import psycopg

    with psycopg.connect(db_dsn(dbname), autocommit=True) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0
