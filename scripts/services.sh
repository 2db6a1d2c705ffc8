# Shared by scripts/test and the benchmarks: bring up the local services the
# tests talk to, or fail loudly. Sourced, not run.

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}

ensure_postgres() {
    if pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        return 0
    fi
    echo "PostgreSQL is not answering on $PG_HOST:$PG_PORT; starting it" >&2
    local version
    for version in $(ls /etc/postgresql 2>/dev/null); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return 0
        sleep 1
    done
    echo "error: PostgreSQL is still down on $PG_HOST:$PG_PORT; the tests need it" >&2
    exit 1
}

drop_leftover_test_databases() {
    drop_databases_like 'orderflow\_test\_%'
    drop_databases_like 'orderflow\_bench\_%'
}

# The databases whose names match the SQL LIKE pattern $1 (`\_` is a literal underscore).
drop_databases_like() {
    local database
    for database in $(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atc \
        "SELECT datname FROM pg_database WHERE datname LIKE '$1'"); do
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -qc \
            "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null
    done
}

# Durable queues of test and benchmark exchanges (`orderflow-test-*`,
# `orderflow-bench-*`) left by interrupted runs. Needs rabbitmqctl (this
# machine's local broker); elsewhere they stay, harmless but untidy.
delete_leftover_test_queues() {
    delete_queues_matching '^orderflow-(test|bench)-'
}

# The queues whose names match the extended regular expression $1 (with rabbitmqctl).
delete_queues_matching() {
    command -v rabbitmqctl >/dev/null || return 0
    local queue
    for queue in $(rabbitmqctl list_queues -q --no-table-headers name 2>/dev/null |
        grep -E "$1" || true); do
        rabbitmqctl delete_queue -q "$queue" >/dev/null 2>&1 || true
    done
}

AMQP_HOST=${AMQP_HOST:-127.0.0.1}
AMQP_PORT=${AMQP_PORT:-5672}

amqp_answers() {
    (exec 3<>"/dev/tcp/$AMQP_HOST/$AMQP_PORT") 2>/dev/null
}

ensure_rabbitmq() {
    if amqp_answers; then
        return 0
    fi
    echo "RabbitMQ is not answering on $AMQP_HOST:$AMQP_PORT; starting it" >&2
    rabbitmq-server -detached || true
    for _ in $(seq 1 90); do
        amqp_answers && return 0
        sleep 1
    done
    echo "error: RabbitMQ is still down on $AMQP_HOST:$AMQP_PORT; the tests need it" >&2
    exit 1
}

# The release binaries every benchmark and check script runs. Always the same
# three packages, so their features unify the same way and one build serves
# every script (building `-p orderflow` alone resolves features differently
# and rebuilds much of the tree).
build_release() {
    cargo build -q --release -p orderflow -p orderflow-loadtest -p orderflow-naive-floor
}
