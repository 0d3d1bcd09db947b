#!/usr/bin/env bash
# Refreshes the committed copy of the WeCom JS-SDK (npm package @wecom/jssdk) that the app serves
# as a static file of its own: pages never load it from a CDN.
#
# The version is the one pinned in package.json and package-lock.json. To move to another one:
#   npm install --save-exact --package-lock-only --ignore-scripts @wecom/jssdk@2.4.x
# then run this (make jssdk), look at the diff and commit the three files and the copy.
set -euo pipefail
cd "$(dirname "$0")/.."

target=contacts/static/contacts/vendor/wecom-jssdk
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp package.json package-lock.json "$work/"
# The package has no install scripts; none are run.
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

package="$work/node_modules/@wecom/jssdk"
version=$(node -p "require('$package/package.json').version")
license=$(node -p "require('$package/package.json').license")
if [ "$license" != "MIT" ]; then
    echo "@wecom/jssdk $version is no longer under the MIT License ($license): check before serving it" >&2
    exit 1
fi

mkdir -p "$target"
# The browser build: one classic script that defines the global `ww`.
cp "$package/dist/wecom.global.prod.js" "$target/wecom.global.prod.js"
sed -i "s/^@wecom\/jssdk [0-9][^ ]*/@wecom\/jssdk $version/" "$target/LICENSE"
echo "$version" > "$target/VERSION"
echo "$target: @wecom/jssdk $version"
