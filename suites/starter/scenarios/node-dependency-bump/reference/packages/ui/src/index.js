'use strict';

const leftPad = require('@acme/left-pad');

/** A fixed-width label for table cells. */
function cellLabel(text, width) {
  return leftPad(String(text), width, ' ');
}

module.exports = { cellLabel };
