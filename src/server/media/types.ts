// What the media routes answer: the protocol's MediaInfo plus image
// dimensions (null when not an image or not read) and the upload time.
import type { MediaInfo } from "../../protocol/index.ts";

export interface UploadedMedia extends MediaInfo {
  width: number | null;
  height: number | null;
  created_at: number;
}
