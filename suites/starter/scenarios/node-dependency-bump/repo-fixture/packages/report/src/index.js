'use strict';

const leftPad = require('left-pad');
const moment = require('moment');

/** One report line: a zero-padded invoice number and a formatted date. */
function reportLine(invoice, date) {
  return `${leftPad(invoice, 8, '0')}  ${moment(date).format('YYYY-MM-DD')}`;
}

module.exports = { reportLine };
