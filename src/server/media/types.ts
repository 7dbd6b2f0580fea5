// What the media routes answer: the protocol's MediaInfo (with image
// dimensions and the upload time).
import type { MediaInfo } from "../../protocol/index.ts";

export type UploadedMedia = MediaInfo;
