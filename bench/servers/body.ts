/** The deterministic 2 KB JSON document every bench server answers with (exactly 2048 bytes). */
export const BODY_BYTES = 2048;

function build(): Buffer {
  const head = '{"id":"bench","kind":"item","pad":"';
  const tail = '"}';
  const padLength = BODY_BYTES - Buffer.byteLength(head) - Buffer.byteLength(tail);
  let pad = '';
  for (let i = 0; pad.length < padLength; i++) pad += String.fromCharCode(97 + (i % 26));
  const body = Buffer.from(head + pad.slice(0, padLength) + tail);
  if (body.length !== BODY_BYTES) throw new Error(`body is ${body.length} bytes`);
  JSON.parse(body.toString());
  return body;
}

export const BODY: Buffer = build();
