// The Litestream binary as a file import: under `bun run` this is its path in
// node_modules; in the compiled binary (`bun build --compile`) it is embedded
// and the path points into /$bunfs, so litestream.ts copies it out before
// spawning. Loaded lazily: platforms without this package fall back to PATH.
// @ts-ignore -- a file import (no type declarations for an executable)
import path from "@flydotio/litestream-linux-x64/litestream" with { type: "file" };

export default path as string;
