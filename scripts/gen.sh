#!/usr/bin/env bash
# Generates gen/ (TypeScript from proto/ and the Google API protos) with buf + ts-proto, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf gen
npx --no-install buf generate --include-imports
