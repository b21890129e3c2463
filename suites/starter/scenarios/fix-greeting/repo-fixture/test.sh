#!/bin/sh
# Checks greet.sh and farewell.sh; exits 1 when any case fails.
fails=0
check() {
  expected=$1
  shift
  actual=$("$@" 2>&1)
  if [ "$actual" = "$expected" ]; then
    echo "ok   $*"
  else
    echo "FAIL $*: expected '$expected', got '$actual'"
    fails=$((fails + 1))
  fi
}
check "Hello, Ada!" sh greet.sh Ada
check "Hello, Grace Hopper!" sh greet.sh "Grace Hopper"
check "HELLO, ADA!" sh greet.sh Ada --shout
check "Goodbye, Ada!" sh farewell.sh Ada
check "Goodbye, friend!" sh farewell.sh
if [ "$fails" -ne 0 ]; then
  echo "$fails case(s) failed"
  exit 1
fi
echo "all cases passed"
