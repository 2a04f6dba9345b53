// The plug-in manifest (written to dist/manifest.json by build.mjs). Fields as documented at
// https://developers.figma.com/docs/plugins/manifest; test/manifest.test.ts checks them.
export const BRIDGE_ORIGINS = ['http://127.0.0.1:7860', 'http://localhost:7860'];

export const manifest = {
  name: 'byteedit',
  // Figma assigns the real id on "Create new plugin" / first publish; replace this one then.
  id: 'byteedit-figma-dev',
  api: '1.0.0',
  editorType: ['figma'],
  main: 'code.js',
  ui: 'ui.html',
  documentAccess: 'dynamic-page',
  networkAccess: {
    // The packs and onnxruntime-web's .wasm are served by the bridge itself: it is the pack host.
    allowedDomains: BRIDGE_ORIGINS,
    reasoning:
      'byteedit talks only to its local bridge (`byteedit serve`, loopback port 7860): it downloads the model pack and the onnxruntime-web WebAssembly file from it to run edits inside the plug-in, or sends the job to it. No other host is contacted and nothing leaves the machine.',
    devAllowedDomains: ['http://127.0.0.1:7860', 'http://localhost:7860', 'http://127.0.0.1:*', 'http://localhost:*'],
  },
};
