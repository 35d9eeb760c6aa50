#!/usr/bin/env bash
# Entrypoint of the postgres stand-in. Same contract as the official image's entrypoint
# (docker-library/postgres): on an empty PGDATA it runs initdb from POSTGRES_USER,
# POSTGRES_PASSWORD[_FILE], POSTGRES_DB, POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR and
# POSTGRES_HOST_AUTH_METHOD, runs /docker-entrypoint-initdb.d/*.sh|*.sql[.gz|.xz|.zst] against a
# socket-only temporary server, and ignores all of that once PG_VERSION exists. Started as root it
# fixes ownership and re-executes itself as postgres; started as any other uid it never needs root,
# so it works with --read-only, a tmpfs at /run/postgresql and a volume at PGDATA.
# Not `set -u`: init scripts are sourced into this shell and may expect unset variables to be empty.
set -Eeo pipefail

fail() {
	printf >&2 'error: %s\n' "$*"
	exit 1
}

# load_setting NAME [DEFAULT]: NAME comes from $NAME or from the file named by $NAME_FILE (Docker
# secrets), never both; NAME_FILE is removed from the environment so postgres never sees it.
load_setting() {
	local name="$1" fallback="${2:-}"
	local file_name="${name}_FILE"
	local value="$fallback"
	if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
		fail "both $name and $file_name are set (but are exclusive)"
	fi
	if [ -n "${!name:-}" ]; then
		value="${!name}"
	elif [ -n "${!file_name:-}" ]; then
		value="$(<"${!file_name}")"
	fi
	export "$name"="$value"
	unset "$file_name"
}

load_settings() {
	load_setting POSTGRES_PASSWORD
	load_setting POSTGRES_USER postgres
	load_setting POSTGRES_DB "$POSTGRES_USER"
	load_setting POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	# PG_VERSION is the one file initdb always leaves in a cluster directory.
	declare -g CLUSTER_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		CLUSTER_EXISTS=true
	fi
}

prepare_directories() {
	local uid
	uid="$(id -u)"
	mkdir -p "$PGDATA"
	# May fail on a directory this uid does not own; postgres then reports the real problem.
	chmod 0700 "$PGDATA" || :
	# The image's directory is fine as it is; a tmpfs mounted over it may refuse chmod.
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$uid" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 0700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$uid" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

# initdb refuses to run for a uid without a passwd entry; nss_wrapper supplies one when needed.
with_passwd_entry() {
	local uid gid lib
	uid="$(id -u)"
	gid="$(id -g)"
	if getent passwd "$uid" >/dev/null 2>&1; then
		"$@"
		return
	fi
	for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so /lib/*/libnss_wrapper.so; do
		[ -s "$lib" ] || continue
		local passwd group status=0
		passwd="$(mktemp)"
		group="$(mktemp)"
		printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" >"$passwd"
		printf 'postgres:x:%s:\n' "$gid" >"$group"
		LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD="$passwd" NSS_WRAPPER_GROUP="$group" "$@" || status=$?
		rm -f "$passwd" "$group"
		return "$status"
	done
	"$@"
}

run_initdb() {
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# The password goes through a pipe, never argv; --pwfile rejects a truly empty file, hence \n.
	# POSTGRES_INITDB_ARGS is word-split with shell quoting, as users of the official image expect.
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "$@"'
}

check_init_settings() {
	if [ "${#POSTGRES_PASSWORD}" -ge 100 ]; then
		printf >&2 '\nWARNING: the superuser password is 100+ characters; psql cannot use it via PGPASSWORD.\n\n'
	fi
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOF'
			Error: Database is uninitialized and superuser password is not specified.
			       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value,
			       or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password
			       (not recommended).
		EOF
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		printf >&2 '\nWARNING: POSTGRES_HOST_AUTH_METHOD=trust lets anyone who reaches the port in without a password.\n\n'
	fi
}

# Host connections use POSTGRES_HOST_AUTH_METHOD, by default the server's password_encryption.
append_host_rule() {
	if [ "${1:-}" = postgres ]; then shift; fi
	local method
	method="$(postgres -C password_encryption "$@")"
	: "${POSTGRES_HOST_AUTH_METHOD:=$method}"
	{
		printf '\n'
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			printf '# warning: trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD"
	} >>"$PGDATA/pg_hba.conf"
}

# psql as the superuser over the Unix socket only.
run_sql() {
	local cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		cmd+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST='' PGHOSTADDR='' "${cmd[@]}" "$@"
}

# The setup server listens on no TCP address, so nothing can connect before setup is done.
start_setup_server() {
	if [ "${1:-}" = postgres ]; then shift; fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

stop_setup_server() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# Connects to the maintenance database "postgres", since POSTGRES_DB may not exist yet.
create_database() {
	local db="$POSTGRES_DB" found
	found="$(POSTGRES_DB='' run_sql --dbname postgres --set db="$db" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$found" ]; then
		POSTGRES_DB='' run_sql --dbname postgres --set db="$db" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
}

run_init_files() {
	# Scripts written for the official image call "${psql[@]}".
	# shellcheck disable=SC2034 # used by the sourced init scripts
	psql=(run_sql)
	local f
	for f; do
		case "$f" in
			*.sh)
				# Executable scripts run on their own; others are sourced and see these functions.
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					# shellcheck disable=SC1090 # the file is chosen at run time
					. "$f"
				fi
				;;
			*.sql) printf '%s: running %s\n' "$0" "$f"; run_sql -f "$f" ;;
			*.sql.gz) printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | run_sql ;;
			*.sql.xz) printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | run_sql ;;
			*.sql.zst) printf '%s: running %s\n' "$0" "$f"; zstd -dc "$f" | run_sql ;;
			*) printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
	done
}

# Flags such as --help or --version make postgres print and exit: no setup for those.
asks_for_info() {
	local arg
	for arg; do
		case "$arg" in
			-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

main() {
	if [ "${1:0:1}" = - ]; then
		set -- postgres "$@"
	fi
	if [ "$1" = postgres ] && ! asks_for_info "$@"; then
		load_settings
		prepare_directories
		if [ "$(id -u)" = 0 ]; then
			exec gosu postgres "${BASH_SOURCE[0]}" "$@"
		fi
		if [ -z "$CLUSTER_EXISTS" ]; then
			check_init_settings
			# Fail now, not half way, if the init directory is unreadable.
			ls /docker-entrypoint-initdb.d/ >/dev/null
			with_passwd_entry run_initdb
			append_host_rule "$@"
			# psql needs it when POSTGRES_INITDB_ARGS makes local connections ask for a password.
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			start_setup_server "$@"
			create_database
			run_init_files /docker-entrypoint-initdb.d/*
			stop_setup_server
			unset PGPASSWORD
			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		else
			printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
		fi
	fi
	exec "$@"
}

# Sourcing this file (as the official image allows) only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
