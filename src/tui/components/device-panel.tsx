// The panel /link and /devices open in the conversation pane: a link code
// with its `natter login` line and (when it fits) its QR code; or the
// user's devices, where x asks to revoke the selected one and y confirms.
import { Box, Text, type Key } from "ink";
import { useMemo } from "react";
import { loginCommand } from "../../client/link.ts";
import { qrLines } from "../../client/qr-lines.ts";
import { errText } from "../controller.ts";
import { revokeSelected, type CommandContext, type DevicePanel } from "../slash-commands/index.ts";
import { dayLabel, clock, fit, wrapLine } from "../format.ts";
import { COLORS, useTheme } from "../theme.ts";

type DevicesPanel = Extract<DevicePanel, { kind: "devices" }>;

/** What the key handler needs from the screen: the panel shown now, a way to replace it, and the client. */
export interface PanelHost {
  current(): DevicePanel | null;
  show(p: DevicePanel | null): void;
  readonly ctx: Pick<CommandContext, "client" | "notify">;
}

/** Keys while a device panel is open. Link: Esc, Enter or q close. Devices: ↑↓ select, x (or Delete) asks, y revokes, any other key cancels the question, Esc closes. */
export function devicePanelKey(p: DevicePanel, input: string, key: Key, host: PanelHost): void {
  if (p.kind === "link") {
    if (key.escape || key.return || input === "q") host.show(null);
    return;
  }
  if (p.busy) {
    if (key.escape) host.show(null);
    return;
  }
  if (p.confirm) {
    if (input !== "y" && input !== "Y") return host.show({ ...p, confirm: false });
    const busy: DevicesPanel = { ...p, confirm: false, busy: true };
    host.show(busy);
    revokeSelected(host.ctx, p).then(
      (next) => {
        if (host.current() === busy) host.show(next);
      },
      (e) => {
        host.ctx.notify(`/devices: ${errText(e)}`, "error");
        if (host.current() === busy) host.show({ ...p, confirm: false });
      },
    );
    return;
  }
  if (key.escape || input === "q") return host.show(null);
  if (key.upArrow) return host.show({ ...p, index: Math.max(0, p.index - 1) });
  if (key.downArrow) return host.show({ ...p, index: Math.min(Math.max(0, p.devices.length - 1), p.index + 1) });
  if (input === "x" || key.delete) return host.show({ ...p, confirm: true });
}

export interface DevicePanelProps {
  panel: DevicePanel;
  server: string;
  width: number;
  height: number;
  now: number;
}

export function DevicePanelView(p: DevicePanelProps) {
  return p.panel.kind === "link" ? <LinkView {...p} panel={p.panel} /> : <DevicesView {...p} panel={p.panel} />;
}

/** "4:59". */
function countdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function LinkView({ panel, server, width, height, now }: DevicePanelProps & { panel: Extract<DevicePanel, { kind: "link" }> }) {
  const { color } = useTheme();
  const command = loginCommand(server, panel.code);
  // Without colors, draw the light modules: right on the usual light-on-dark terminal.
  const qr = useMemo(() => qrLines(command, !color), [command, color]);
  const left = panel.expiresAt - now;
  const expired = left <= 0;
  const commandRows = wrapLine(command, width);
  const fits = !expired && (qr[0]?.length ?? 0) <= width && qr.length + 3 + commandRows.length <= height;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold color={color ? COLORS.accent : undefined}>
        Link a new device (Esc closes)
      </Text>
      {fits
        ? qr.map((l, i) => (
            <Text key={i} color={color ? "black" : undefined} backgroundColor={color ? "white" : undefined}>
              {l}
            </Text>
          ))
        : null}
      {expired ? (
        <Text color={color ? COLORS.error : undefined}>Code {panel.code} has expired; /link makes a new one.</Text>
      ) : (
        <Text wrap="truncate-end">
          Code: <Text bold>{panel.code}</Text> · works once · expires in {countdown(left)}
        </Text>
      )}
      <Text>{fits || expired ? "On the new device, run:" : "On the new device, run (a larger window shows it as a QR code):"}</Text>
      {commandRows.map((r, i) => (
        <Text key={i}>{r}</Text>
      ))}
    </Box>
  );
}

function DevicesView({ panel, width, height, now }: DevicePanelProps & { panel: DevicesPanel }) {
  const { color } = useTheme();
  const visible = Math.max(1, height - 3);
  const top = Math.max(0, Math.min(panel.index - visible + 1, panel.devices.length - visible));
  const nameW = Math.min(24, Math.max(4, ...panel.devices.map((d) => d.name.length)));
  const sel = panel.devices[panel.index];
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold color={color ? COLORS.accent : undefined} wrap="truncate-end">
        Your devices (↑↓ select · x: revoke · Esc closes)
      </Text>
      {panel.devices.slice(top, top + visible).map((d, i) => (
        <Text key={d.id} inverse={top + i === panel.index} wrap="truncate-end">
          {`  ${fit(d.name, nameW)}  ${d.id}  linked ${dayLabel(d.created_at, now)} ${clock(d.created_at)}${d.current ? "  (this device)" : ""}`}
        </Text>
      ))}
      {panel.confirm && sel ? (
        <Text color={color ? COLORS.warn : undefined} wrap="wrap">
          Revoke {sel.name} ({sel.id})?{sel.current ? " This is this device: you will be logged out." : " It is logged out at once."} y: revoke · any other key: cancel
        </Text>
      ) : null}
      {panel.busy ? <Text dimColor>revoking…</Text> : null}
    </Box>
  );
}
