/**
 * Types for js-hcl-parser (HCL v1 <-> JSON, compiled from HashiCorp's Go hcl with GopherJS).
 * parse() returns a JSON string, or an error message string when the HCL is invalid.
 */
declare module "js-hcl-parser" {
  const hcl: { parse(text: string): string; stringify(json: string): string };
  export default hcl;
}
