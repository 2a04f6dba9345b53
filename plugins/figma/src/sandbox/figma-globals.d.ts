// Only for tsconfig.json (lint and tests, which also load DOM and Node types): the two Figma
// globals code.ts uses. tsconfig.sandbox.json takes the real ones from @figma/plugin-typings.
declare const figma: PluginAPI;
declare const __html__: string;
