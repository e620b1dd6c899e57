/**
 * Failure signatures: what groups runs that fail the same way. A number in a message (decimal,
 * hex `0x…`, a VP, an address, a sequence number) says where or when, not how, so it becomes
 * `#`; a list of them (`vCPU 0, 1, 2`) becomes one `#`, so the same deadlock on different vCPUs
 * groups together. Digits inside a word (`x64`, `HvCallFlushVirtualAddressSpaceEx`, `utf8`) are
 * part of the word and stay. Runs of white space (a stack trace's line breaks) become one space.
 */

// A number that stands alone: not preceded or followed by a letter, digit or underscore.
const NUMBER = /(?<![\p{L}\p{N}_])(?:0x[0-9a-f]+|\d+(?:\.\d+)?)(?![\p{L}\p{N}_])/giu;
// A list of numbers once each is `#`: "#, #, #" and "# and #".
const LIST = /#(?:(?:, | and )#)+(?![\p{L}\p{N}_])/gu;

/** The message with numbers taken out, for grouping failures. */
export function failureSignature(message: string): string {
  return message.replace(NUMBER, '#').replace(LIST, '#').replace(/\s+/g, ' ').trim();
}
