#!/usr/bin/env bash
# Makes sure PostgreSQL's server programs (initdb, pg_ctl, postgres) are
# installed, for the link-host tests that run the backend against PostgreSQL
# (tests/js/host.test.mjs, through tests/js/postgres.mjs). Installs Debian's
# `postgresql` with apt-get when missing. Never fails the build: if it cannot
# install, it says so, and those tests skip with the same message.
set -uo pipefail

find_initdb() {
  command -v initdb 2>/dev/null && return 0
  ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

if [ -n "$(find_initdb)" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: PostgreSQL is not installed and apt-get is unavailable: the PostgreSQL link-host tests will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "note: PostgreSQL is not installed and installing it needs root: the PostgreSQL link-host tests will be skipped" >&2
    exit 0
  fi
fi
echo "==> apt-get install postgresql"
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null; }; then
  echo "note: installing postgresql failed: the PostgreSQL link-host tests will be skipped" >&2
  exit 0
fi
# The package starts a system cluster; the tests make their own and do not need it.
if [ -z "$(find_initdb)" ]; then
  echo "note: postgresql installed but initdb not found: the PostgreSQL link-host tests will be skipped" >&2
fi
exit 0
