/** Change-feed payloads as Salesforce and Jira send them, for the hook tests. */

let notificationsSent = 0;

/**
 * An Outbound Message `notifications` envelope as Salesforce sends it, one Notification per
 * [sObject type, record id]; each notification gets a new id (a resend repeats the same text).
 */
export function outboundEnvelope(records: ReadonlyArray<readonly [string, string]>, org: string): string {
  const notifications = records
    .map(
      ([type, id]) => `
   <Notification>
    <Id>04l${String(++notificationsSent).padStart(12, '0')}AAA</Id>
    <sObject xsi:type="sf:${type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>${id}</sf:Id>
     <sf:Name>Acme &amp; Co</sf:Name>
    </sObject>
   </Notification>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${org}</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/60.0/00D000000000001</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/60.0/00D000000000001</PartnerUrl>${notifications}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`;
}

