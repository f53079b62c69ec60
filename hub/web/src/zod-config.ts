// zod settings for the page, imported before anything that declares a schema (zod reads them when a schema is
// made). The page's Content-Security-Policy forbids eval, so zod must not compile parsers with new Function (or even
// probe for it: the probe logs a CSP violation); its interpreted parsers are plenty fast for a few hundred
// messages a second.
import { z } from 'zod';

z.config({ jitless: true });
