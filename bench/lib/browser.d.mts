import type { Browser } from 'puppeteer-core';

export declare const ROOT: string;
export declare const CHROMIUM: string;
/** Starts the bench page's Vite dev server on a free local port. */
export declare function startPageServer(): Promise<{ url: string; close(): Promise<void> }>;
/** Launches headless Chromium with WebGPU (SwiftShader where there is no GPU) and a fresh profile. */
export declare function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }>;
