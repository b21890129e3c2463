#!/bin/sh
# Usage: greet.sh NAME [--shout]
# Prints "Hello, NAME!". With --shout the whole greeting is printed in upper case.
greeting="Hello, $1!"
if [ "$2" = "--shout" ]; then
  printf '%s\n' "$greeting" | tr '[:lower:]' '[:upper:]'
else
  printf '%s\n' "$greeting"
fi
