// Renders one prepared line of styled segments; color is dropped under NO_COLOR.
import { Text } from "ink";
import type { Seg } from "../theme.ts";
import { useTheme } from "../theme.ts";

export function SegLine({ segs }: { segs: Seg[] }) {
  const { color } = useTheme();
  return (
    <Text wrap="truncate-end">
      {segs.map((s, i) => (
        <Text key={i} color={color ? s.color : undefined} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
          {s.text}
        </Text>
      ))}
      {segs.length === 0 ? " " : ""}
    </Text>
  );
}
