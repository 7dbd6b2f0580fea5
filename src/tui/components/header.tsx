// The conversation header: the chat's name, then typing / presence / members.
import { Box, Text } from "ink";
import type { HeaderInfo } from "../layout.ts";
import { COLORS, useTheme } from "../theme.ts";
import { truncate } from "../format.ts";

export function Header({ info, width }: { info: HeaderInfo; width: number }) {
  const { color } = useTheme();
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate-end">
        {truncate(info.title, width)}
      </Text>
      {info.typing ? (
        <Text color={color ? COLORS.accent : undefined} italic wrap="truncate-end">
          {truncate(info.typing, width)}
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          {truncate(info.subtitle, width) || " "}
        </Text>
      )}
      <Text dimColor>{"─".repeat(Math.max(0, width))}</Text>
    </Box>
  );
}
