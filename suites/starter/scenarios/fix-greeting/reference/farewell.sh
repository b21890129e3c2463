#!/bin/sh
# Usage: farewell.sh [NAME]
# Prints "Goodbye, NAME!". Without a name (or with an empty one) it prints "Goodbye, friend!".
echo "Goodbye, ${1:-friend}!"
