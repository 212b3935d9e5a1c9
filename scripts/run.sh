#!/usr/bin/env bash
# Run okno on the embedded default (SQLite under var/, in-process queues) at
# http://127.0.0.1:8080: bootstrap, apply the migrations, serve.
#
#   scripts/run.sh [--config FILE] [more `okno serve` arguments]
#
# --config FILE (or OKNO_CONFIG) is used by both `okno migrate` and `okno serve`; any other
# argument goes to `okno serve`. Every setting can also come from OKNO_SECTION__KEY variables.
set -euo pipefail

serve_args=()
while (($#)); do
    case $1 in
        --config)
            (($# >= 2)) || {
                echo "run.sh: --config needs a file" >&2
                exit 2
            }
            OKNO_CONFIG=$2
            shift 2
            ;;
        --config=*)
            OKNO_CONFIG=${1#--config=}
            shift
            ;;
        *)
            serve_args+=("$1")
            shift
            ;;
    esac
done
if [[ -n ${OKNO_CONFIG:-} ]]; then
    [[ -f ${OKNO_CONFIG} ]] || {
        echo "run.sh: config file ${OKNO_CONFIG} does not exist" >&2
        exit 2
    }
    # Absolute before the cd below: relative paths are meant from the caller's directory.
    OKNO_CONFIG=$(realpath "${OKNO_CONFIG}")
    export OKNO_CONFIG
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh
# The default SQLite database and attachments live under the data dir; SQLite does not create
# missing directories.
mkdir -p var "${OKNO_DATA_DIR:-var}"
.venv/bin/okno migrate
exec .venv/bin/okno serve "${serve_args[@]}"
