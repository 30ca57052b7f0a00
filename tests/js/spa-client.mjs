// The official better-auth client as a browser page loads it: bundled by esbuild into one IIFE
// (tests/browser/test_cross_origin.py) that puts createAuthClient on window.
import { createAuthClient } from "better-auth/client";

window.createAuthClient = createAuthClient;
