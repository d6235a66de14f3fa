#!/usr/bin/env bash
# Installs the servers the local lab runs: Valkey (or Redis) and MariaDB.
# Only what is missing is installed. Without root or sudo it prints the command and stops.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; }
need_cache=1; need_db=1
{ have valkey-server && have valkey-cli; } || { have redis-server && have redis-cli; } && need_cache=0
{ have mariadbd || have mysqld; } && have mariadb-install-db && need_db=0
if [ $need_cache = 0 ] && [ $need_db = 0 ]; then
  echo "servers: cache and database binaries present"; exit 0
fi

os=$(uname -s); id=""; codename=""
[ -r /etc/os-release ] && . /etc/os-release && id=${ID:-} && codename=${VERSION_CODENAME:-}

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo_cmd="sudo"; else sudo_cmd="NOSUDO"; fi
fi

case "$os:$id" in
  Darwin:*)
    cmd="brew install valkey mariadb"
    command -v brew >/dev/null || { echo "servers: install Homebrew, then run: $cmd" >&2; exit 1; }
    echo "servers: $cmd"; $cmd; exit 0 ;;
  Linux:amzn)
    cmd="dnf install -y valkey mariadb105-server" ;;
  Linux:debian|Linux:ubuntu|Linux:*)
    command -v apt-get >/dev/null || { echo "servers: no apt-get; install valkey-server and mariadb-server with your package manager" >&2; exit 1; }
    cmd="apt-get" ;;
  *) echo "servers: unsupported system $os; install valkey and mariadb yourself" >&2; exit 1 ;;
esac

if [ "$sudo_cmd" = NOSUDO ]; then
  if [ "$cmd" = apt-get ]; then
    pkgs=""; [ $need_cache = 1 ] && pkgs="valkey-server valkey-tools"; [ $need_db = 1 ] && pkgs="$pkgs mariadb-server"
    if [ "$codename" = bookworm ]; then
      echo "servers: needs root. Run (Valkey 8 comes from bookworm-backports):" >&2
      echo "  echo 'deb http://deb.debian.org/debian bookworm-backports main' | sudo tee /etc/apt/sources.list.d/bookworm-backports.list" >&2
      echo "  sudo apt-get update && sudo apt-get install -y -t bookworm-backports $pkgs" >&2
    else
      echo "servers: needs root. Run: sudo apt-get update && sudo apt-get install -y $pkgs" >&2
    fi
  else
    echo "servers: needs root. Run: sudo $cmd" >&2
  fi
  exit 1
fi

if [ "$cmd" != apt-get ]; then echo "servers: $sudo_cmd $cmd"; $sudo_cmd $cmd; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
# The lab runs its own server processes; keep the packages from starting system daemons on 6379/3306.
policy=/usr/sbin/policy-rc.d; made_policy=0
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee $policy >/dev/null; $sudo_cmd chmod +x $policy; made_policy=1
fi
trap '[ $made_policy = 1 ] && $sudo_cmd rm -f '$policy EXIT

backports=""
if [ "$codename" = bookworm ]; then
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "servers: enabling bookworm-backports (Valkey 8 lives there)"
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $sudo_cmd tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  backports="-t bookworm-backports"
fi
echo "servers: apt-get update"
$sudo_cmd apt-get update -qq
if [ $need_cache = 1 ]; then
  echo "servers: installing valkey-server valkey-tools"
  # shellcheck disable=SC2086
  $sudo_cmd apt-get install -y -qq $backports valkey-server valkey-tools >/dev/null \
    || { echo "servers: Valkey not available here, falling back to redis-server"; \
         $sudo_cmd apt-get install -y -qq redis-server redis-tools >/dev/null; }
fi
if [ $need_db = 1 ]; then
  echo "servers: installing mariadb-server"
  $sudo_cmd apt-get install -y -qq mariadb-server >/dev/null
fi
echo "servers: done"
