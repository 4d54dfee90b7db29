#!/bin/sh
# Install Graphviz's `dot` (Debian package graphviz) when it is missing and we are allowed to;
# Autogradlib still builds graphs (DOT source) without it, only rendering to SVG/PNG needs it.
command -v dot >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing graphviz (the dot binary) with apt-get..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
        || echo "warning: could not install graphviz; graphs will be written as DOT source only"
else
    echo "note: Graphviz's dot is missing; graphs will be written as DOT source only" \
         "(install it with: sudo apt-get install graphviz)"
fi
exit 0
