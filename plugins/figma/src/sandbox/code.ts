/**
 * Figma sandbox entry (dist/code.js): shows the UI, reports the selection, exports pixels on
 * request and writes applied results. No DOM here; the engine lives in the UI iframe.
 */
import './text-codec-shim'; // first: the PNG decoder needs text codecs at load time
import { DEFAULT_SETTINGS, type SandboxToUi, type Settings, type UiToSandbox } from '../shared/messages';
import { applyResult, describeSelection, prepareSource } from './adapter';

const SETTINGS_KEY = 'byteedit.settings.v1';

function post(msg: SandboxToUi): void {
  figma.ui.postMessage(msg);
}

async function sendSelection(): Promise<void> {
  post({ type: 'selection', state: await describeSelection(figma) });
}

async function handle(msg: UiToSandbox): Promise<void> {
  switch (msg.type) {
    case 'ready': {
      const saved = (await figma.clientStorage.getAsync(SETTINGS_KEY)) as Partial<Settings> | undefined;
      post({ type: 'settings', settings: { ...DEFAULT_SETTINGS, ...(saved ?? {}) } });
      await sendSelection();
      break;
    }
    case 'prepare':
      post(await prepareSource(figma, msg.requestId, msg.mode));
      break;
    case 'apply': {
      const reply = await applyResult(figma, msg);
      post(reply);
      figma.notify(reply.type === 'applied' ? `Added "${reply.name}"` : reply.message, { error: reply.type !== 'applied' });
      break;
    }
    case 'save-settings':
      await figma.clientStorage.setAsync(SETTINGS_KEY, msg.settings);
      break;
    case 'notify':
      figma.notify(msg.message);
      break;
  }
}

figma.showUI(__html__, { width: 380, height: 640, themeColors: true, title: 'byteedit' });
figma.ui.onmessage = (msg: UiToSandbox) => {
  handle(msg).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (msg.type === 'prepare') post({ type: 'refusal', requestId: msg.requestId, message });
    else post({ type: 'apply-failed', message });
  });
};
figma.on('selectionchange', () => {
  sendSelection().catch(() => undefined);
});
