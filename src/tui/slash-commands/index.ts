// Slash commands (/new, /group, /file, /leave, /link...): parsed from the
// composer's text (parse.ts), then run against the server (run.ts); the
// device commands and their panel's model in devices.ts. The TUI imports them from here.
export { deviceNotice, isDevicePanel, revokeSelected, type DevicePanel } from "./devices.ts";
export { COMMAND_HELP, parseInput, type ChatCommand, type Parsed } from "./parse.ts";
export { confirmation, runCommand, type CommandContext, type CommandOutcome } from "./run.ts";
