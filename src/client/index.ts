// The client library: what the TUI, the CLI and scripts use to talk to a
// natter server. See docs/client.md for its guarantees.
export { NatterClient, type ChangeNote, type ClientOptions, type ConnState, type SendParams } from "./client.ts";
export { foldChange, changeRecord, changeTarget } from "../protocol/changes.ts";
export type { OutgoingEntry } from "./outbox.ts";
export { login, HttpApi, baseUrl, onSomeServer, triedNowhere } from "./http.ts";
export { ServerRotation, uniqueServers } from "./servers.ts";
export { deviceOps, type DeviceOps, type OpRunner } from "./devices.ts";
export { loginCommand, terminalQr } from "./link.ts";
export { configDir, loadCredentials, saveCredentials, removeCredentials, credentialsPath, knownServers, saveLearnedNodes, DEFAULT_PROFILE, type Credentials } from "./credentials.ts";
export { fullJitterDelay, backoffCeiling } from "./backoff.ts";
export {
  uploadMedia,
  downloadMedia,
  mediaInfo,
  messageTypeFor,
  dispositionName,
  type UploadedMedia,
  type Downloaded,
  type MediaDownloadOptions,
  type Progress,
  type TransferOptions,
  type UploadOptions,
} from "./media.ts";
