// Slash commands (/new, /group, /file, /leave...): parsed from the composer's
// text (parse.ts), then run against the server (run.ts). The TUI imports them from here.
export { COMMAND_HELP, parseInput, type ChatCommand, type Parsed } from "./parse.ts";
export { confirmation, runCommand, type CommandContext, type CommandOutcome } from "./run.ts";
